"""GUI benchmarks: time from launch to a visible window, the longest GUI-thread stall while a
12-megapixel photo is colorized on the CPU, and the hint tool on that photo: time from
choosing a hint's colour to the repainted preview, and the longest stall while dragging a hint.

    QT_QPA_PLATFORM=offscreen python bench/gui_responsiveness.py [--megapixels 12]

A 2 ms timer runs on the GUI thread; the longest gap between its ticks from "open" until
the result is painted is the stall a user would feel.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def startup_seconds(command: list[str], runs: int = 5) -> list[float]:
    """Seconds from starting `command` (an autochrome entry) to its window being shown."""
    times = []
    for _ in range(runs):
        began = time.time()
        done = subprocess.run(command + ["gui", "--exit-when-shown"], cwd=ROOT, capture_output=True, text=True,
                              env=dict(os.environ), timeout=120)
        marker = [line for line in done.stdout.splitlines() if line.startswith("shown ")]
        if not marker:
            raise RuntimeError(done.stderr)
        times.append(float(marker[0].split()[1]) - began)
    return times


def longest_stall(megapixels: float) -> dict:
    import numpy as np
    from PIL import Image
    from PySide6.QtCore import QElapsedTimer, QEventLoop, QTimer
    from PySide6.QtWidgets import QApplication

    from autochrome.desktop.main_window import MainWindow

    width = int((megapixels * 1e6 * 4 / 3) ** 0.5)
    height = int(width * 3 / 4)
    folder = Path(tempfile.mkdtemp())
    rng = np.random.default_rng(0)
    y, x = np.mgrid[0:height, 0:width]
    grey = (127 + 60 * np.sin(x / 97.0) * np.cos(y / 71.0) + rng.normal(0, 8, (height, width))).clip(0, 255)
    photo = folder / "big.png"
    Image.fromarray(grey.astype(np.uint8), "L").save(photo)

    _app = QApplication.instance() or QApplication(sys.argv[:1])  # noqa: F841  kept alive for the run
    window = MainWindow(quiet=True)
    window.resize(1280, 800)
    window.show()
    loop = QEventLoop()
    window.modelReady.connect(loop.quit)
    loop.exec()

    gaps = []
    clock = QElapsedTimer()
    clock.start()
    last = [clock.nsecsElapsed()]

    def tick():
        now = clock.nsecsElapsed()
        gaps.append((now - last[0]) / 1e6)
        last[0] = now

    timer = QTimer()
    timer.setInterval(2)
    timer.timeout.connect(tick)
    began = time.perf_counter()
    timer.start()
    done = QEventLoop()
    window.resultShown.connect(lambda entry: QTimer.singleShot(200, done.quit))  # include the first paints
    window.open_paths([photo])
    done.exec()
    timer.stop()
    elapsed = time.perf_counter() - began - 0.2
    paint_ms = paint_times(window.view)
    hints = hint_timings(window, timer, gaps, last, clock)
    window.close()
    return {"paint_ms": paint_ms, "size": f"{width}x{height}", "colorize_s": elapsed, "longest_stall_ms": max(gaps),
            "p99_gap_ms": float(np.percentile(gaps, 99)), "ticks": len(gaps), **hints}


def hint_timings(window, timer, gaps, last, clock) -> dict:
    """Choosing a hint's colour -> the preview painted (median of 5); then one drag of a hint
    across the photo (40 moves, 25 ms apart) with the GUI-thread stall measured throughout."""
    import statistics

    from PySide6.QtCore import QEventLoop, QPoint, QPointF, Qt, QTimer
    from PySide6.QtTest import QTest

    view = window.view
    view.set_divider(0.02)  # the colour side fills the view; clicks never land on the divider
    window.hint_tool.tool_action.trigger()
    width, height = view.image_size()
    to_preview = []
    for index in range(5):
        point = QPointF(width * (0.2 + 0.15 * index), height * 0.5)
        QTest.mouseClick(view, Qt.MouseButton.LeftButton, pos=view.image_to_widget(point).toPoint())
        popover = window.hint_tool.popover
        painted = QEventLoop()

        def on_preview(_reply, loop=painted):
            view.repaint()
            loop.quit()

        window.previewShown.connect(on_preview)
        began = time.perf_counter()
        popover._emit(40.0 - 20 * index, 30.0, True)
        painted.exec()
        to_preview.append((time.perf_counter() - began) * 1000)
        window.previewShown.disconnect(on_preview)
        settle = QEventLoop()
        window.resultShown.connect(settle.quit)
        settle.exec()
        window.resultShown.disconnect(settle.quit)
    # Drag the last hint across the photo while the 2 ms timer watches the GUI thread.
    previews = []
    window.previewShown.connect(lambda reply: previews.append(reply))
    gaps.clear()
    last[0] = clock.nsecsElapsed()
    timer.start()
    start = view.image_to_widget(QPointF(width * 0.8, height * 0.5)).toPoint()
    QTest.mousePress(view, Qt.MouseButton.LeftButton, pos=start)
    for step in range(40):
        QTest.mouseMove(view, pos=start + QPoint(-8 * step, 3 * step))
        QTest.qWait(25)
    QTest.mouseRelease(view, Qt.MouseButton.LeftButton, pos=start + QPoint(-320, 120))
    done = QEventLoop()
    window.resultShown.connect(lambda entry: QTimer.singleShot(100, done.quit))
    done.exec()
    timer.stop()
    return {"colour_to_preview_ms": statistics.median(to_preview), "drag_longest_stall_ms": max(gaps),
            "drag_previews": len(previews)}


def paint_times(view) -> dict:
    """Milliseconds to repaint the split view at fit, 100% and 400%, panning between paints."""
    from PySide6.QtCore import QPointF

    results = {}
    for label, zoom in (("fit", None), ("100%", 1.0), ("400%", 4.0)):
        view.fit() if zoom is None else view.set_zoom(zoom)
        times = []
        for step in range(20):
            view.center += QPointF(7, 5) if step % 2 else QPointF(-7, -5)
            began = time.perf_counter()
            view.repaint()
            times.append((time.perf_counter() - began) * 1000)
        results[label] = max(times[2:])
    return results


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--megapixels", type=float, default=12.0)
    parser.add_argument("--executable", help="a built app to time instead of `python -m autochrome.desktop`")
    parser.add_argument("--startup-only", action="store_true")
    args = parser.parse_args()
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    os.environ.setdefault("AUTOCHROME_DATA_DIR", tempfile.mkdtemp())
    command = [args.executable] if args.executable else [sys.executable, "-m", "autochrome.desktop"]
    times = startup_seconds(command)
    print(f"launch to visible window: median {sorted(times)[len(times) // 2]:.2f} s (runs: {', '.join(f'{t:.2f}' for t in times)})")
    if args.startup_only:
        return 0
    stall = longest_stall(args.megapixels)
    print(f"colorize {stall['size']} on CPU: {stall['colorize_s']:.1f} s; longest GUI-thread stall "
          f"{stall['longest_stall_ms']:.0f} ms, 99th percentile gap {stall['p99_gap_ms']:.1f} ms over {stall['ticks']} ticks")
    print("slowest repaint of the split view while panning: "
          + ", ".join(f"{k} {v:.1f} ms" for k, v in stall["paint_ms"].items()))
    print(f"hint tool: colour chosen to repainted preview, median {stall['colour_to_preview_ms']:.0f} ms; "
          f"dragging a hint: longest GUI-thread stall {stall['drag_longest_stall_ms']:.0f} ms "
          f"({stall['drag_previews']} previews painted during the 1 s drag)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
