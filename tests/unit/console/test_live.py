"""Live streams: they end at sign-out, and one session cannot open any number of them."""

from __future__ import annotations

import asyncio

from tests.unit.console.console_client import (
    account,
    client_for,
    login,
    make_console,
    next_event,
    page_token,
)


async def test_sign_out_ends_the_live_streams_at_once() -> None:
    console = make_console(account("ana", "lead"))
    async with client_for(console) as client:
        assert await login(client, "ana") == 303
        streams = [await client.get("/api/stream") for _ in range(2)]
        for response in streams:
            assert (await next_event(response))[0] == "hello"
        token = await page_token(client)
        signed_out = await client.post("/logout", data={"csrf_token": token}, allow_redirects=False)
        assert signed_out.status == 303
        for response in streams:
            # Well before the 15 s heartbeat: the stream says so and ends.
            assert (await next_event(response, timeout=2.0))[0] == "signed_out"
            assert (await next_event(response, timeout=2.0))[0] == "eof"
        assert len(console.hub) == 0


async def test_streams_per_session_are_limited() -> None:
    console = make_console(account("ana", "lead"), max_streams_per_session=3)
    async with client_for(console) as client:
        assert await login(client, "ana") == 303
        opened = await asyncio.gather(*(client.get("/api/stream") for _ in range(5)))
        statuses = sorted(r.status for r in opened)
        assert statuses == [200, 200, 200, 429, 429]
        for response in opened:
            response.close()
        await asyncio.sleep(1.0)  # the server notices the closed streams (within 0.5 s)
        again = await client.get("/api/stream")
        assert again.status == 200
        again.close()


async def test_a_pages_new_stream_replaces_its_old_one_at_once() -> None:
    """Quick filter changes: each new stream of a page ends its previous one, so they
    never count against the limit, while another page's stream stays open."""
    console = make_console(account("ana", "lead"), max_streams_per_session=2)
    async with client_for(console) as client:
        assert await login(client, "ana") == 303
        other = await client.get("/api/stream?tab=page2")
        assert (await next_event(other))[0] == "hello"
        previous = None
        for severity in ("high", "low", "critical", "medium", "high"):
            response = await client.get(f"/api/stream?tab=page1&severity={severity}")
            assert response.status == 200, await response.text()
            assert (await next_event(response))[0] == "hello"
            if previous is not None:  # ended by the server now, not when it notices the close
                assert (await next_event(previous, timeout=2.0))[0] == "eof"
            previous = response
        assert len(console.hub) == 2  # page2 and page1's newest
        third = await client.get("/api/stream?tab=page3")
        assert third.status == 429  # a third page is still over the limit
        assert (await client.get("/api/stream?tab=no%20spaces")).status == 400
        for response in (other, previous, third):
            response.close()


async def test_signing_out_leaves_other_sessions_streams_open(make_alert) -> None:
    console = make_console(account("ana", "lead"), account("bo", "analyst"))
    async with client_for(console) as ana, client_for(console) as bo:
        await login(ana, "ana")
        await login(bo, "bo")
        mine = await ana.get("/api/stream")
        theirs = await bo.get("/api/stream")
        assert (await next_event(mine))[0] == "hello"
        assert (await next_event(theirs))[0] == "hello"
        await ana.post("/logout", data={"csrf_token": await page_token(ana)})
        assert (await next_event(mine, timeout=2.0))[0] == "signed_out"
        stored = console.alerts.upsert(make_alert(), received_at=0)
        assert stored is not None
        console.alert_changed(stored)
        event, data = await next_event(theirs)
        assert event == "alert" and data["alert"]["alert_id"] == "a1"
        theirs.close()
