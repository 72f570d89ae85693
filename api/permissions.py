"""Strawberry permission classes: every operation declares what it needs on its field.

``requires(Permission.x)`` is the class of one permission (made once, so the schema can be
read back: ``permission_of(field)`` gives the permission an operation declares, which the
RBAC test and docs/security.md's table are built from). ``Authenticated`` needs any valid
session. Refusals are coded client errors: UNAUTHENTICATED without a session, FORBIDDEN
when the role lacks the permission.
"""

from __future__ import annotations

import functools
from typing import Any, ClassVar

from strawberry.permission import BasePermission
from strawberry.types import Info

from api.auth import PERMISSIONS, Permission
from api.errors import ClientError


class Authenticated(BasePermission):
    """Any caller with a valid session (the account is checked on every request)."""

    permission: ClassVar[Permission | None] = None

    def has_permission(self, source: Any, info: Info, **kwargs: Any) -> bool:
        refusal = self.refusal(info.context.principal)
        if refusal is not None:
            raise refusal
        return True

    @classmethod
    def refusal(cls, principal: Any) -> ClientError | None:
        """Why ``principal`` (None: no session) may not use the field, or None when it may: the one
        decision, which the compiled read path (api.compiled_reads) asks too."""
        if principal is None:
            what = cls.permission.value if cls.permission else "use this operation"
            return ClientError(f"authentication required to {what}", "UNAUTHENTICATED")
        if cls.permission is not None and not principal.can(cls.permission):
            return ClientError(f"role {principal.role.name} may not {cls.permission.value}", "FORBIDDEN")
        return None


@functools.cache
def requires(permission: Permission) -> type[BasePermission]:
    """The permission class of ``permission`` (one class per permission, named after it)."""
    name = "Requires" + "".join(part.title() for part in permission.name.split("_"))
    return type(name, (Authenticated,), {"permission": permission, "__doc__": f"Needs: {permission.value} "
                                         f"(role {PERMISSIONS[permission].name} and above)."})


def permission_of(field: Any) -> Permission | None | bool:
    """What a schema field declares: its Permission, True for 'any session', False for public."""
    classes = [cls for cls in getattr(field, "permission_classes", ()) if issubclass(cls, Authenticated)]
    if not classes:
        return False
    return next((cls.permission for cls in classes if cls.permission is not None), True)
