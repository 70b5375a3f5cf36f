"""dialogtech-async: an asyncio client for the DialogTech and Infinity APIs.

Reports stream through sans-I/O parsers into typed records, in constant memory.
"""

from ._bulk import BulkReport
from ._dialogtech import Session
from ._exceptions import (
    APIStatusError,
    AuthenticationError,
    BadRequestError,
    DialogTechError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    ResponseFormatError,
    ServerError,
    SessionClosedError,
    StreamInterruptedError,
    TransportError,
    UnsafeXMLError,
    ValidationError,
)
from ._infinity import InfinitySession
from ._output import asdict
from ._parquet import write_parquet
from ._parsers import BodyLimits
from ._records import (
    ActiveCall,
    CallResult,
    ClickToRecord,
    LeadFlowCall,
    LeadStatus,
    PbxActiveCall,
    PbxUserStatus,
)
from ._report import Report
from ._retry import RetryPolicy
from ._version import __version__

__all__ = [
    "APIStatusError",
    "ActiveCall",
    "AuthenticationError",
    "BadRequestError",
    "BodyLimits",
    "BulkReport",
    "CallResult",
    "ClickToRecord",
    "DialogTechError",
    "InfinitySession",
    "LeadFlowCall",
    "LeadStatus",
    "NotFoundError",
    "PbxActiveCall",
    "PbxUserStatus",
    "PermissionDeniedError",
    "RateLimitError",
    "Report",
    "ResponseFormatError",
    "RetryPolicy",
    "ServerError",
    "Session",
    "SessionClosedError",
    "StreamInterruptedError",
    "TransportError",
    "UnsafeXMLError",
    "ValidationError",
    "__version__",
    "asdict",
    "write_parquet",
]

# Show `dialogtech_async.Session`, not `dialogtech_async._dialogtech.Session`, in reprs and docs.
for _name in __all__:
    _obj = globals()[_name]
    if isinstance(_obj, type):
        _obj.__module__ = __name__
del _name, _obj
