"""Built-in models; importing this package registers them. A new variant adds one import line here."""

from gnn.models import bwgnn, gat, gbt, ghrn, mlp, rgcn, sage  # noqa: F401
