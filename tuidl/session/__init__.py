"""Between a view and the trainer: sessions, their commands and records (no Textual here).

`base.Session` is the protocol; `messages` holds the types that cross it. Sessions:
`thread.ThreadSession`, `child.ProcessSession`, `compare.CompareSession`,
`follow.FollowSession`. Import them from their modules: the engine's probe imports
`messages`, so this package imports nothing on its own.
"""
