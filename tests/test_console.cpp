// tests/test_console.cpp — being written (issue 10).
