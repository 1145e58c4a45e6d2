"""Intake (一窗受理): applicants, applications, materials stored once and reused."""
