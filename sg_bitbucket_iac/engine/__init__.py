"""Plan, apply, read and drift for Bitbucket connectors: the one place where the rules live.

Three views of a connector meet here: **desired** (the :class:`~sg_bitbucket_iac.model.Connector`
a user declared), **applied** (:class:`AppliedSnapshot`, what this tool last wrote) and
**observed** (the :class:`~sg_bitbucket_iac.wire.ObservedConnector` StackGuardian reports now).
desired vs observed/applied gives the plan (plan.py); observed vs applied gives drift ("changed
outside"), desired vs applied pending changes (drift.py); precheck.py decides what may be
written; engine.py does the I/O.
"""

from ..errors import ConnectorExistsError, PreflightFailed
from .drift import AuditFinding, DriftReport, DriftStatus, audit_connector, classify_drift
from .engine import INTERRUPTED_CREATE_NOTE, ApplyResult, Engine
from .plan import SENSITIVE, Action, ConnectorPlan, FieldChange, keep_identity, plan_connector
from .precheck import check_policy
from .snapshot import AppliedSnapshot

__all__ = [
    "INTERRUPTED_CREATE_NOTE",
    "SENSITIVE",
    "Action",
    "AppliedSnapshot",
    "ApplyResult",
    "AuditFinding",
    "ConnectorExistsError",
    "ConnectorPlan",
    "DriftReport",
    "DriftStatus",
    "Engine",
    "FieldChange",
    "PreflightFailed",
    "audit_connector",
    "check_policy",
    "classify_drift",
    "keep_identity",
    "plan_connector",
]
