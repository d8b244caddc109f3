"""VDA 5050 2.x for fieldops, pure (no clock, no network: timestamps and header IDs are
passed in).

- :mod:`.protocol`: topics, headers, canonical bytes, actions, instant actions and the
  messages robots send (connection, factsheet, state, visualization); versions 2.0.0/2.1.0;
- :mod:`.parse`: checking what arrives (``parse_state``, ``parse_order``, ...);
- :mod:`.orders`: the mapping from steps to orders (stops, routes, bounded orders, stable
  action IDs).

Everything is re-exported here, so ``from fieldops.core import vda5050 as v`` reaches it all.
"""

from __future__ import annotations

from fieldops.core.vda5050.orders import (  # noqa: F401
    ARRIVAL_ACTION,
    ARRIVAL_INDEX,
    KIND_ACTIONS,
    ORDER_MAX_ACTIONS,
    ORDER_MAX_BYTES,
    ORDER_MAX_STOPS,
    EncodedOrder,
    Pose,
    Route,
    Stop,
    Walk,
    arrival_action_id,
    build_order,
    build_route,
    compact_path,
    declared_action_types,
    encode_order,
    node_sequence_id,
    released_end,
    split_declared,
    step_action_types,
    step_parameters,
    step_status,
    work_action_ids,
)
from fieldops.core.vda5050.parse import (  # noqa: F401
    ActionState,
    MessageHeader,
    Order,
    OrderAction,
    OrderNode,
    RobotError,
    RobotState,
    decode,
    parse_connection,
    parse_factsheet,
    parse_instant_actions,
    parse_order,
    parse_state,
)
from fieldops.core.vda5050.protocol import (  # noqa: F401
    ACTION_STATUSES,
    BLOCKING_TYPES,
    CONNECTION_STATES,
    CUSTOM_ACTIONS,
    DEFAULT_VERSION,
    ERROR_LEVELS,
    FINAL_ACTION_STATUSES,
    INSTANT_ACTIONS,
    INTERFACE,
    MAJOR,
    MAX_ARRAY,
    MAX_MESSAGE_BYTES,
    MAX_STRING,
    STANDARD_ACTIONS,
    TOPIC_QOS,
    TOPIC_RETAIN,
    TOPICS,
    VERSIONS,
    Header,
    HeaderIds,
    Prepared,
    VdaError,
    action,
    actions_for_version,
    build_connection,
    build_factsheet,
    build_instant_actions,
    build_state,
    build_visualization,
    cancel_order,
    check_version,
    confirm_trigger,
    encode,
    encode_value,
    factsheet_request,
    is_number,
    iso_timestamp,
    metres,
    parameters_for_version,
    pause,
    resume,
    split_topic,
    state_request,
    topic,
)
