"""The statuses of a connection application (the lifecycle itself comes with its own issue)."""

from __future__ import annotations

from enum import StrEnum


class ApplicationStatus(StrEnum):
    REGISTERED = "registered"  # Qeydə alındı
    UNDER_REVIEW = "under_review"  # Baxılır
    CONDITIONS_IN_PREPARATION = "conditions_in_preparation"  # Texniki şərtlər hazırlanır
    PAYMENT_PENDING = "payment_pending"  # Ödəniş gözlənilir
    PAID = "paid"  # Ödənilib
    INSTALLATION = "installation"  # Quraşdırma işləri
    CONNECTED = "connected"  # Qoşuldu
    REJECTED = "rejected"  # Rədd edildi
    WITHDRAWN = "withdrawn"  # Ləğv edildi
