"""The restore step keeps OpenCV to one thread while its bands run side by side, and gives the
process its setting back afterwards, whatever happens in between."""

import threading

import cv2
import numpy as np
import pytest
import torch

from autochrome.engine.kernel_threads import one_thread_per_kernel


@pytest.fixture
def two_opencv_threads():
    before = cv2.getNumThreads()
    cv2.setNumThreads(2)
    yield
    cv2.setNumThreads(before)


def test_inside_one_thread_and_afterwards_as_before_even_after_an_error(two_opencv_threads):
    with pytest.raises(RuntimeError):
        with one_thread_per_kernel():
            assert cv2.getNumThreads() == 1
            raise RuntimeError("a band failed")
    assert cv2.getNumThreads() == 2


def test_overlapping_uses_put_the_setting_back_only_when_the_last_leaves(two_opencv_threads):
    entered, leave_first = threading.Event(), threading.Event()

    def other():
        with one_thread_per_kernel():
            entered.set()
            leave_first.wait(5)

    worker = threading.Thread(target=other)
    worker.start()
    entered.wait(5)
    with one_thread_per_kernel():
        leave_first.set()
        worker.join(5)
        assert cv2.getNumThreads() == 1  # the other has left, this one has not
    assert cv2.getNumThreads() == 2


def test_finding_damage_leaves_the_process_threads_as_it_found_them(two_opencv_threads):
    from autochrome.engine.networks.damage import DamageConfig, DamageNet
    from autochrome.engine.restore import BAND_ROWS, damage_probability

    torch.manual_seed(0)
    net = DamageNet(DamageConfig(hidden=4)).eval()
    torch_threads = torch.get_num_threads()
    lightness = np.random.default_rng(0).uniform(20, 80, (BAND_ROWS + 40, 64)).astype(np.float32)
    damage_probability(lightness, net)
    assert cv2.getNumThreads() == 2 and torch.get_num_threads() == torch_threads
