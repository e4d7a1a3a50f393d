"""Helpers every job shares, written once: top-k ranking and its metrics, seeds and devices, output rendering, exit statuses, online feedback and tag interests."""
