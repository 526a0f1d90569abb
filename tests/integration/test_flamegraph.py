"""Placeholder: replaced by the real tests of this area."""
import unittest

import lptest


class Pending(unittest.TestCase):
    def test_pending(self):
        self.skipTest("not written yet")


if __name__ == "__main__":
    lptest.main()
