// tests/test_schemas.cpp — being written (issue 10).
