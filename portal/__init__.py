"""The lender's core, shared by both channels: cases, limitation, intake, payments, access, audit, jobs."""
