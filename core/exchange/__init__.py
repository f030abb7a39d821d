"""The exchange between the two networks (issue 21): the internal deployment on the government
private network (政务专网) and the public one on the extranet (政务外网) share no database; what
crosses is a signed, sequence-numbered bundle, moved as a file (a one-way gateway, 网闸, moves
files) in one direction per key.

- `bundles`: sealing and opening a bundle (pure: bytes in, bytes out, no Flask, no database);
- `keys`: Ed25519 key pairs, their ids, loading them from the configuration;
- `models`: each direction's cursor (last sequence sent / applied) and the log of every bundle;
- `service`: send (collect what the kinds have new, seal, drop) and receive (verify, check the
  sequence, apply atomically, report refusals);
- `transport`: the drop directories.

What crosses is declared by the features (`Feature.exchange`, core/features.py): each
`ExchangeKind` says how its side collects its items and how the other side applies them.
docs/operations.md ("Two networks") explains the deployment and the keys.
"""
