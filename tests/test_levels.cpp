// tests/test_levels.cpp — being written (issue 10).
