"""Reminder delivery: the schedule, the dispatcher, Web Push and email."""
