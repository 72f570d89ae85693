"""Cost of the per-request account check against the token decode it replaced, side by side in one run.

Before issue 11 every request decoded its JWT (``read_token``) and trusted the role inside; now it decodes
it and checks the account's current state through a 2 s cache (``AccountService.principal``). This prints
both per-call costs and their ratio on the real test servers (one Neo4j read per cache expiry).

    GRIDTWIN_PROFILE=test .venv/bin/gridtwin services up
    GRIDTWIN_PROFILE=test .venv/bin/python bench/account_check_bench.py
"""

from __future__ import annotations

import asyncio
import os
import sys
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("GRIDTWIN_PROFILE", "test")

from api.accounts import AccountService  # noqa: E402
from api.auth import PasswordVault, issue_token, new_credential_key, new_secret, read_token  # noqa: E402
from graph import accounts, db  # noqa: E402
from graph.models_store import ensure_builtin_models  # noqa: E402
from gridtwin.config import get_settings  # noqa: E402

CALLS = 20_000


async def _per_call(label: str, check: object) -> float:
    started = time.perf_counter()
    for _ in range(CALLS):
        await check()  # type: ignore[operator]
    seconds = (time.perf_counter() - started) / CALLS
    print(f"{label:<44} {seconds * 1e6:8.2f} µs per request")
    return seconds


async def main() -> None:
    settings = get_settings()
    driver, async_driver = db.open_driver(settings), db.open_async_driver(settings)
    models = ensure_builtin_models(driver)
    username = f"bench-{uuid.uuid4().hex[:8]}"
    secret = new_secret()
    service = AccountService(driver, async_driver, PasswordVault(new_credential_key()), secret, 3600)
    accounts.create_account(driver, models, username, "viewer", "v1:bench")
    token = issue_token(accounts.account_twin_id(username), username, 0, secret, 3600)
    try:
        await service.principal(token)  # warm the cache and the driver

        async def decode_only() -> None:
            read_token(token, secret)

        async def account_check() -> None:
            await service.principal(token)

        old, new = await _per_call("token decode only (before)", decode_only), \
            await _per_call("token decode + account check (now)", account_check)
        print(f"ratio now / before: {new / old:.2f} ({(new - old) * 1e6:.2f} µs added per request; "
              f"the cache expires every {service.cache._ttl:g} s per account)")
    finally:
        accounts.delete_account(driver, username)
        driver.close()
        await async_driver.close()


if __name__ == "__main__":
    asyncio.run(main())
