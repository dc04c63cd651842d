"""The policy: agencies, endpoints, certificates and detector settings, as validated data."""

from streams.policy.certifications import Certificate, CertificateRegistry, load_certificates_csv
from streams.policy.loader import load_policy, parse_duration
from streams.policy.model import (
    AgencyPolicy,
    AuthorisedEndpoint,
    BehaviorSettings,
    BurstSettings,
    CaseNumberSettings,
    DetectorSettings,
    Policy,
    TrainingSettings,
)

__all__ = [
    "AgencyPolicy",
    "AuthorisedEndpoint",
    "BehaviorSettings",
    "BurstSettings",
    "CaseNumberSettings",
    "Certificate",
    "CertificateRegistry",
    "DetectorSettings",
    "Policy",
    "TrainingSettings",
    "load_certificates_csv",
    "load_policy",
    "parse_duration",
]
