// examples/trace_context_service.cpp — being written (issue 9).
int main() { return 0; }
