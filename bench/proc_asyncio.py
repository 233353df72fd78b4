# bench/proc_asyncio.py - asyncio's create_subprocess_exec('true') + wait(),
# best of 20, the counterpart of `build/bench/micro io`'s
# proc_exec_wait_true_us.  Run: python3 bench/proc_asyncio.py [uvloop]
import asyncio
import sys
import time


async def main():
    best = float("inf")
    for _ in range(20):
        t0 = time.perf_counter()
        p = await asyncio.create_subprocess_exec("true")
        await p.wait()
        best = min(best, time.perf_counter() - t0)
    name = "uvloop" if len(sys.argv) > 1 else "asyncio"
    print(f"{name}_exec_wait_true_us: {best * 1e6:.0f} us")


if len(sys.argv) > 1 and sys.argv[1] == "uvloop":
    import uvloop

    uvloop.install()
asyncio.run(main())
