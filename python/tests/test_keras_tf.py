"""layer_rotation.keras on Keras 3's TensorFlow backend: test_keras.py's tests (the run log read by
the extension's parser, layer names and order, failures inside fit, Layca equal to the PyTorch
package's), run again with KERAS_BACKEND=tensorflow. Keras fixes its backend when it is first
imported, and TensorFlow's import costs seconds: so the whole module runs once, in one
subprocess. Where TensorFlow is not installed (or does not import) this skips, saying why; where
LAYER_ROTATION_REQUIRE_TF=1 (CI sets it: scripts/install-venv.sh installs tensorflow-cpu) it fails
instead."""
import os
import re
import subprocess
import sys
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
REQUIRE_ENV = "LAYER_ROTATION_REQUIRE_TF"
# Set in the subprocess: test_keras.py exits with SKIP_EXIT (the reason on stderr) when it would
# skip as a whole (keras or TensorFlow missing) instead of reporting skipped tests.
SKIP_EXIT_ENV, SKIP_EXIT = "LAYER_ROTATION_KERAS_SKIP_EXIT", 77
TIMEOUT = 600


@unittest.skipIf(
    os.environ.get("KERAS_BACKEND") == "tensorflow",
    "KERAS_BACKEND=tensorflow here: test_keras.py runs on TensorFlow in this process already",
)
class TensorFlowBackend(unittest.TestCase):
    def test_the_keras_tests_pass_on_tensorflow(self):
        env = dict(os.environ, KERAS_BACKEND="tensorflow", **{SKIP_EXIT_ENV: "1"})
        env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # TensorFlow's C++ start-up notices
        started = time.monotonic()
        r = subprocess.run(
            [sys.executable, "-m", "unittest", "-v", "test_keras"],
            cwd=HERE,
            env=env,
            capture_output=True,
            text=True,
            timeout=TIMEOUT,
        )
        seconds = time.monotonic() - started
        if r.returncode == SKIP_EXIT:
            why = "test_keras.py on the tensorflow backend: " + (r.stderr.strip().splitlines() or ["?"])[-1]
            if os.environ.get(REQUIRE_ENV) == "1":
                self.fail("%s (%s=1 requires TensorFlow)" % (why, REQUIRE_ENV))
            self.skipTest(why)
        self.assertEqual(r.returncode, 0, "test_keras.py on the tensorflow backend failed:\n" + r.stderr[-6000:])
        ran = re.search(r"^Ran (\d+) tests? in .*\n\n(OK.*)$", r.stderr, re.M)
        self.assertIsNotNone(ran, r.stderr[-2000:])
        self.assertGreater(int(ran.group(1)), 0)
        sys.stderr.write("[test_keras.py on tensorflow: %s tests, %s, %.0f s] " % (ran.group(1), ran.group(2), seconds))


if __name__ == "__main__":
    unittest.main()
