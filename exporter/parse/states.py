"""Map the state labels status pages print to the model's statuses."""

from __future__ import annotations

from exporter.model import STATUSES

# Statuspage marks an update posted without a change of state with this label.
UPDATE_LABEL = "update"

MAINTENANCE_STATUSES = frozenset({"scheduled", "in_progress", "verifying", "completed"})


def label_status(label: str) -> str:
    """Return the status a label such as `In progress` names, or "unknown"."""
    status = "_".join(label.lower().split())
    return status if status in STATUSES else "unknown"


def is_update_label(label: str) -> bool:
    """Tell whether the label is Statuspage's `Update`, which changes no state."""
    return label.strip().lower() == UPDATE_LABEL


def is_state_label(label: str) -> bool:
    """Tell whether the label is a known state or the `Update` marker."""
    return is_update_label(label) or label_status(label) != "unknown"


def current_status(labels_newest_first: list[str]) -> str:
    """Return the status of the newest label that is not `Update`."""
    for label in labels_newest_first:
        if not is_update_label(label):
            return label_status(label)
    return "unknown"


def kind_of(statuses: set[str]) -> str:
    """Return "maintenance" when any status is a maintenance one, else "incident"."""
    return "maintenance" if statuses & MAINTENANCE_STATUSES else "incident"
