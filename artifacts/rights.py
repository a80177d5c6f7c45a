"""What can still be done with an artifact: its repository's rights, narrowed by its state.

An artifact's rights are its repository's (``console.permissions``); a locked version is
permanent, so updating and deleting it are not among them whatever the caller's role.
The API's ``permissions`` field and the console's buttons both ask ``artifact_rights``,
so neither offers what the services would refuse with a 409.
"""

from __future__ import annotations

from artifacts.models import Artifact
from console.permissions import Action

# Seeing a version and sharing its repository outlive the lock; changing it never does
# (cloning it into a new draft needs EDIT on the repository, which the repository reports).
STILL_ALLOWED_WHEN_LOCKED = frozenset({Action.VIEW, Action.SHARE})


def artifact_rights(artifact: Artifact, repository_rights: frozenset[Action]) -> frozenset[Action]:
    """``repository_rights`` less what ``artifact``'s state rules out."""
    if artifact.is_locked:
        return repository_rights & STILL_ALLOWED_WHEN_LOCKED
    return repository_rights
