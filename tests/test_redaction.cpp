// tests/test_redaction.cpp — being written (issue 10).
