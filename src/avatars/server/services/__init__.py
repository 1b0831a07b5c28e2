"""The platform's rules and its SQL, one module per resource, callable without HTTP.

- :mod:`.accounts`: organizations, users, passwords, login and its lockout, sessions and
  tokens, password reset;
- :mod:`.keys`: API keys;
- :mod:`.resources`: resource sets and the snapshots of their inputs;
- :mod:`.jobs`: create (one job, or a set's flow), list and filter, cancel, delete;
- :mod:`.results`: result files, storage access grants (S3 key pairs);
- :mod:`.datasets`: uploaded tables;
- :mod:`.events`: the audit trail.

Services take a :class:`~.context.Context` (database, storage, settings, secret key, clock)
and, for what a user asks, a :class:`~.context.Caller`; every query is scoped to what the
caller may see. They raise the exceptions of :mod:`.errors`, which the API turns into HTTP
answers in one place (:mod:`avatars.server.errors`).
"""
