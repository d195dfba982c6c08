"""Ctrl-C stops a long fit within a second, with KeyboardInterrupt."""

import subprocess
import sys

SCRIPT = r"""
import os, signal, threading, time
import numpy as np
import memristive

X = np.random.default_rng(0).standard_normal((400, 1, 60))
y = np.arange(400) % 2
sent = []
def interrupt():
    sent.append(time.monotonic())
    os.kill(os.getpid(), signal.SIGINT)
threading.Timer(2.0, interrupt).start()
start = time.monotonic()
try:
    memristive.RNNClassifier(random_state=0, max_epochs=100000, patience=100000).fit(X, y)
    print("finished")
except KeyboardInterrupt:
    print(f"interrupted {time.monotonic() - sent[0]:.3f}")
"""


def test_a_fit_interrupted_by_a_signal_raises_keyboard_interrupt():
    out = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    word, seconds = out.stdout.split()
    assert word == "interrupted"
    assert float(seconds) < 1.0
