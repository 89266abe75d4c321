r"""Argument checks: the one home of every check the package makes.

Every check raises :class:`TypeError` (wrong kind of value) or
:class:`ValueError` (right kind, wrong value) with a message of the form
``'name' must ... (got ...)``, before any work is done. Checks that look at
tensor values cost one reduction (one host synchronisation on a GPU); hot
loops validate once up front and then use the unchecked paths.
"""

from torch_geometric_negsamp._validate.scalars import (  # noqa: F401
    MAX_NUM_NODES,
    check_bool,
    check_callable,
    check_choice,
    check_generator,
    check_instance,
    check_int,
    check_node_counts,
    check_num_nodes,
    check_path,
    check_positive_int,
    check_positive_real,
    check_probability,
    check_real,
    check_seed,
    check_temperature,
)
from torch_geometric_negsamp._validate.sizes import (  # noqa: F401
    check_key_space,
    check_keys_known,
    check_request_size,
)
from torch_geometric_negsamp._validate.tensors import (  # noqa: F401
    check_all_finite,
    check_batch_vector,
    check_edge_ids,
    check_float_tensor,
    check_ids_in_range,
    check_in_range,
    check_index_tensor,
    check_like,
    check_returned,
    check_same_device,
    check_same_shape,
    check_sparse_adjacency,
    check_tensor,
    check_user_item_index,
)
