"""sociograph's analytics jobs and their command line (``python -m jobs``)."""
