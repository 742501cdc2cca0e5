"""Opaque, leak-free identifiers: hex ids, dotted-quad IPs, phone numbers, e-mail domains.

Hex ids are a seeded bijective mix of the internal index, so they are unique without a uniqueness
check and carry nothing about who or what they name. Every formatter also returns a sort key whose
order equals the string order of ids of the same kind, so vocabularies can be ordered by spelling
(and never by allocation order, which would group a ring's devices together).
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

_HEX = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)
_BITS = 40  # 10 hex digits: room for 10^12 entities, far more than needed

# First octets of each IP kind. Disjoint sets, so addresses of different kinds never collide.
_RESIDENTIAL = (
    24, 67, 68, 69, 70, 71, 72, 73, 75, 76, 96, 97, 98, 99, 108, 173,
    2, 5, 31, 37, 46, 77, 78, 79, 80, 81, 82, 83, 84, 86, 87, 88, 89, 90, 91, 92, 93, 94, 95,
    177, 179, 186, 187, 189, 191, 200, 201,
    27, 36, 39, 58, 59, 60, 61, 101, 110, 111, 112, 113, 114, 115, 116, 117, 118, 119, 120, 121,
    41, 102, 105, 197,
)  # fmt: skip
_DATACENTER = (3, 13, 18, 34, 35, 52, 54, 104, 138, 139, 143, 146, 159, 161, 162, 164, 165, 167, 185, 188)
_OFFICE = (12, 15, 16, 17, 19, 38, 50, 63, 144, 147, 148, 149, 156, 160, 163, 199, 204, 205, 206, 216)
_CAMPUS = (128, 129, 130, 131, 132, 134, 136, 137, 140, 141, 152, 155, 171)
_PUBLIC = (65, 184, 203, 210, 211, 212, 213, 217)
# Mobile carriers' public NAT ranges are identified by their first two octets.
_MOBILE = ((172, 56), (172, 58), (174, 200), (174, 224), (166, 170), (107, 77), (157, 40), (223, 180))
IP_KINDS: dict[str, tuple] = {
    "residential": _RESIDENTIAL,
    "datacenter": _DATACENTER,
    "office": _OFFICE,
    "campus": _CAMPUS,
    "public": _PUBLIC,
    "mobile": _MOBILE,
}

COMMON_EMAIL_DOMAINS = (
    "gmail.com", "yahoo.com", "outlook.com", "hotmail.com", "icloud.com", "proton.me",
    "gmx.de", "yandex.ru", "mail.ru", "aol.com", "live.com", "web.de", "orange.fr", "qq.com",
)  # fmt: skip
_PHONE_CODES = np.array(["1", "44", "49", "33", "91", "55", "62", "52", "63", "234", "90", "81"])


def _mix(index: np.ndarray, key: int, bits: int) -> np.ndarray:
    """A seeded bijection on ``bits``-bit integers (multiply by odd constants, xor-shift)."""
    mask = np.uint64((1 << bits) - 1)
    k = np.random.default_rng(key).integers(1, 1 << 62, size=4, dtype=np.uint64) | np.uint64(1)
    x = (index.astype(np.uint64) ^ (k[0] & mask)) & mask
    shift = np.uint64(bits // 2 - 1)
    for c in k[1:]:
        x = (x * c) & mask  # odd multiplier: invertible modulo 2**bits
        x ^= x >> shift  # xor-shift: invertible
    return x


def hex_ids(prefix: str, index: np.ndarray, key: int) -> tuple[pa.StringArray, np.ndarray]:
    """Fixed-width ids ``prefix + 10 hex digits`` for internal indices.

    Args:
        prefix: one ASCII letter, e.g. ``"u"`` for accounts.
        index: int [n] distinct internal indices.
        key: seed of the bijection (derived from the world seed and the id kind).

    Returns:
        ``(ids, sort_key)``: Arrow strings, and uint64 keys ordered like the strings.
    """
    x = _mix(index, key, _BITS)
    n = x.size
    width = 1 + _BITS // 4
    buf = np.empty((n, width), dtype=np.uint8)
    buf[:, 0] = ord(prefix)
    shifts = np.arange(_BITS - 4, -1, -4, dtype=np.uint64)
    buf[:, 1:] = _HEX[((x[:, None] >> shifts) & np.uint64(0xF)).astype(np.intp)]
    return _bytes_to_str(buf), x


def _bytes_to_str(buf: np.ndarray) -> pa.StringArray:
    """Rows of a fixed-width uint8 matrix -> Arrow strings (no Python objects: cheap at millions)."""
    n, width = buf.shape
    offsets = np.arange(0, (n + 1) * width, width, dtype=np.int32)
    return pa.Array.from_buffers(pa.string(), n, [None, pa.py_buffer(offsets), pa.py_buffer(buf)])


def _join_str(parts: list[pa.Array], sep: str) -> pa.StringArray:
    return pc.binary_join_element_wise(*parts, sep)


def ip_strings(kind: str, n: int, rng: np.random.Generator) -> tuple[pa.StringArray, np.ndarray]:
    """``n`` distinct dotted-quad addresses of one kind (never .0 or .255 as the last octet).

    Returns:
        ``(ips, address)``: Arrow strings, and the uint32 address value of each.
    """
    prefixes = IP_KINDS[kind]
    two_octets = isinstance(prefixes[0], tuple)
    per_prefix = (1 << (8 if two_octets else 16)) * 254
    space = len(prefixes) * per_prefix
    if n > space:
        raise ValueError(f"cannot draw {n} distinct {kind} IPs from a space of {space}")
    v = rng.choice(space, size=n, replace=False).astype(np.int64)
    p, rest = np.divmod(v, per_prefix)
    mid, last = np.divmod(rest, 254)
    last = last + 1
    if two_octets:
        first = np.array([a for a, _ in prefixes], dtype=np.int64)[p]
        second = np.array([b for _, b in prefixes], dtype=np.int64)[p]
        third = mid
    else:
        first = np.array(prefixes, dtype=np.int64)[p]
        second, third = np.divmod(mid, 256)
    address = ((first << 24) | (second << 16) | (third << 8) | last).astype(np.uint32)
    parts = [pa.array(o).cast(pa.string()) for o in (first, second, third, last)]
    return _join_str(parts, "."), address


def phone_strings(index: np.ndarray, key: int) -> tuple[pa.StringArray, np.ndarray]:
    """E.164-looking phone numbers ``+<country code><10 digits>``, distinct per index.

    Returns:
        ``(phones, sort_key)``: Arrow strings, and a key (its order groups numbers by country
        code, then by number; only used to order vocabularies independently of allocation).
    """
    number = _mix(index, key, 33).astype(np.int64)  # < 2**33 < 10**10: fits 10 digits
    code = (number * 7919 + 13) % _PHONE_CODES.size  # a fixed function of the number: stays distinct
    digits = pc.utf8_lpad(pa.array(number).cast(pa.string()), 10, "0")
    parts = [pa.array(np.full(number.size, "+")), pa.array(_PHONE_CODES[code]), digits]
    return _join_str(parts, ""), (code.astype(np.uint64) << np.uint64(34)) | number.astype(np.uint64)


def public_disposable_domains(seed: int) -> list[str]:
    """The public throw-away e-mail services of a world (used by some benign users and by rings)."""
    return disposable_domains(12, np.random.default_rng([seed, 0xD15B]))


def disposable_domains(n: int, rng: np.random.Generator) -> list[str]:
    """Throw-away e-mail domains as used by account farms (e.g. ``mailbox-3fa9c.top``)."""
    stems = np.array(["mailbox", "inbox", "tempmail", "mymail", "fastmail", "postbox", "mailer"])
    tlds = np.array(["top", "xyz", "online", "site", "click", "icu", "shop"])
    tag = rng.choice(1 << 20, size=n, replace=False)  # distinct tags: distinct domains
    return [
        f"{s}-{t:05x}.{d}"
        for s, t, d in zip(
            stems[rng.integers(0, stems.size, n)], tag, tlds[rng.integers(0, tlds.size, n)], strict=True
        )
    ]
