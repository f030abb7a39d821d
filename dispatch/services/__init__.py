"""Use cases of the wartime response; each commits once."""
