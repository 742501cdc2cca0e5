"""``/v1/accounts``: one account's verdict."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Query

from service.deps import SECURITY, any_role, investigator_only
from service.routers.lookup import LookupRoute
from service.schemas import Account, AccountProfile, error_responses
from service.store import Store

router = APIRouter(prefix="/v1/accounts", tags=["accounts"], route_class=LookupRoute)
profile_router = APIRouter(prefix="/v1/profiles", tags=["accounts"])

#: ``?dataset=`` of both lookups.
DatasetQuery = Annotated[
    str | None,
    Query(min_length=1, max_length=200, description="the dataset; default: the one with the newest run"),
]


@router.get(
    "/{account_id:path}",
    response_model=Account,
    openapi_extra={"security": SECURITY},
    responses=error_responses(401, 403, 404, 503),
    summary="An account's score, cluster and verdict",
)
async def get_account(
    account_id: str,
    dataset: DatasetQuery = None,
    store: Store = Depends(any_role),
) -> dict:
    """The account's score, cluster and verdict from the latest run of its dataset (any role)."""
    found = store.account(account_id, dataset)
    if found is None:
        raise HTTPException(404, f"account {account_id[:100]!r} not found")
    return found


@profile_router.get(
    "/{account_id:path}",
    response_model=AccountProfile,
    openapi_extra={"security": SECURITY},
    responses=error_responses(401, 403, 404, 503),
    summary="An account's verdict with its identifiers, recent events and strongest links",
)
async def get_profile(
    account_id: str,
    dataset: DatasetQuery = None,
    store: Store = Depends(investigator_only),
) -> dict:
    """The account's verdict (as ``GET /v1/accounts/{id}``) and, when it is a member of a ``ring``
    or ``suspicious`` cluster, what the run saw of it: creation time, first and last event, its
    identifiers with how many accounts use each, its latest events and its strongest links to
    other accounts (investigators only: identifiers are personal data)."""
    found = store.profile(account_id, dataset)
    if found is None:
        raise HTTPException(404, f"account {account_id[:100]!r} not found")
    return found
