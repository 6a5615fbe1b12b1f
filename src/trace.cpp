// src/trace.cpp — W3C trace context, baggage and carriers (issue 4; being written).
