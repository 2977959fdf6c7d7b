"""Run unittest test cases and print TAP, so the automake harness counts
every case.  Used by the integration tests: `tap.main()` at the bottom of a
test script runs every TestCase in its module, in definition order."""
import sys
import traceback
import unittest


class _Result(unittest.TestResult):
    def __init__(self):
        super().__init__()
        self.n = 0

    def _line(self, ok, test, extra=""):
        self.n += 1
        name = test.id().split(".", 1)[-1]
        print(f"{'ok' if ok else 'not ok'} {self.n} - {name}{extra}", flush=True)

    def addSuccess(self, test):
        self._line(True, test)

    def addFailure(self, test, err):
        self._line(False, test)
        self._diag(err)

    def addError(self, test, err):
        self._line(False, test)
        self._diag(err)

    def addSkip(self, test, reason):
        self._line(True, test, f" # SKIP {reason}")

    @staticmethod
    def _diag(err):
        for line in "".join(traceback.format_exception(*err)).splitlines():
            print(f"# {line}", flush=True)


def main():
    mod = sys.modules["__main__"]
    loader = unittest.TestLoader()
    loader.sortTestMethodsUsing = None
    suite = unittest.TestSuite()
    for name in mod.__dict__:
        obj = mod.__dict__[name]
        if isinstance(obj, type) and issubclass(obj, unittest.TestCase) \
                and obj.__module__ == "__main__":
            suite.addTests(loader.loadTestsFromTestCase(obj))
    result = _Result()
    suite.run(result)
    print(f"1..{result.n}", flush=True)
    sys.exit(0 if result.wasSuccessful() else 1)
