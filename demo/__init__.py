"""Demo data for `make demo`: a realistic cast, cases, placements and money, written through the same services as a
real import, allocation and payment."""
