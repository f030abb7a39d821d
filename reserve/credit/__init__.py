"""Credit lists (信用名单): dishonest-entity (失信) and red (守信) lists of enterprises by unified
social credit code, with their provenance and history, and the checks that gate suppliers and
agreement/capacity reserves on them (docs/credit.md)."""
