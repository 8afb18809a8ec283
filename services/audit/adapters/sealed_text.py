"""Sealed values inside stored text, read back: the patterns that find them in an actor column, a payload's
canonical JSON or a page of export lines, and the openers that replace each with its plaintext (or
``[erased]`` / ``[unreadable]``) given the people's ciphers (``person_keys.PersonKeys`` loads those). No
database here: text in, text or values out."""

from __future__ import annotations

import binascii
import re
from json.encoder import encode_basestring_ascii  # type: ignore[attr-defined]
from typing import Any

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from services.audit.domain import sealing

_MARKS = tuple('"' + prefix for prefix in sealing.PREFIXES)  # how a sealed value starts inside payload JSON
_TOKEN = r"([0-9a-f]{" + str(sealing.TOKEN_LEN) + r"})"
# A sealed value as a member's value or a list element inside stored payload JSON, at any depth (group 1:
# the whole value; group 2: the person's token; canonical JSON escapes every quote inside a string, so
# ``:"``, ``,"`` and ``["`` start a string value there, never the inside of one), and any sealed value's
# token (an actor column or a payload), for finding a page's people in one scan. Each pattern starts with
# the literal ``enc`` and looks behind it for the quote and the character before: a pattern that starts with
# the look-behind is tried at every position of the text, which cost several times the rest of the export.
_BODY = r"(?:#[0-9]+|[A-Za-z0-9+/]*={0,2})"
SEALED_VALUE = re.compile(r'"(enc(?<=[:,\[]"enc)[12]:' + _TOKEN + ":" + _BODY + ')"')
SEALED_TOKEN = re.compile(r"enc[12]:" + _TOKEN + r":")
# A format-2 carrier (not a reference) as a whole payload string value: group 1 the value, group 2 its person.
_CARRIER = re.compile(r'"(enc(?<=[:,\[]"enc)2:' + _TOKEN + r':[A-Za-z0-9+/]+={0,2})"')
# The same values as ``SEALED_VALUE`` for splitting a whole page: the format, the person, the body. The quotes stay
# in the text around them, so an opened value is written as its literal's inside (no quoting per value).
SEALED_PARTS = re.compile(r'enc(?<=[:,\[]"enc)([12]):' + _TOKEN + ":(" + _BODY + ')(?=")')


_AT = len(sealing.PREFIX2) + sealing.TOKEN_LEN + 1  # where a format-2 value's body starts


def opener(ring: dict[str, AESGCM | None], carried: dict[str, list[str] | str]):
    """``re.sub`` replacement for one row's text: a sealed JSON string literal opened (``[erased]`` for a
    destroyed key); one whose person has no key at all (text that only looks sealed) left as it is.
    ``sealing.opened_value`` written out for the values ``SEALED_VALUE`` matches: it runs for every sealed
    value of an export, and its calls were most of the export's time."""
    quote = encode_basestring_ascii

    def opened(match: re.Match[str]) -> str:
        value, token = match.group(1, 2)
        if token not in ring:
            return match.group(0)
        if value[3] == "1":  # enc1: sealed on its own
            return quote(sealing.unseal(ring[token], value))
        held = carried.get(token)
        if held is None:  # no carrier of its person in the row: text that only looks sealed
            return match.group(0)
        if type(held) is str:  # [erased] or [unreadable]
            return quote(held)
        index = int(value[_AT + 1:]) if value[_AT] == "#" else 0
        return quote(held[index] if index < len(held) else sealing.UNREADABLE)

    return opened


_INDEX = {f"#{i}": i for i in range(16)}  # a reference's index, for the common ones without parsing


def open_parts(parts: list[str], ring: dict[str, AESGCM | None]) -> str:
    """A page's text split by ``SEALED_PARTS`` (stride 4: the text before, then each value's format, person
    and body) with each sealed value opened as ``opener`` opens it in its row, in one pass. A row's carrier
    of a person is opened when the row's first value of that person is met: most often that value is the
    carrier itself (the actor's), else the row is looked through for it (``_row_literals``); a row ends at a
    newline. Values are written without their quotes, which stay in the text between them."""
    out = [parts[0]]
    append = out.append
    carried: dict[str, list[str] | str] = {}
    kinds, tokens, bodies = parts[1::4], parts[2::4], parts[3::4]
    for at, (kind, token, body, after) in enumerate(zip(kinds, tokens, bodies, parts[4::4], strict=True)):
        if token not in ring:  # no key was ever made: text that only looks sealed
            append(f"enc{kind}:{token}:{body}")
        elif kind == "1":
            append(encode_basestring_ascii(sealing.unseal(ring[token], f"enc1:{token}:{body}"))[1:-1])
        else:
            held = carried.get(token)
            if held is None:
                first = body[:1]
                if first == "#" or first == "=" or not first:  # a reference: its carrier comes later in the row
                    held = _row_literals(kinds, tokens, bodies, parts, at, ring[token], token)
                else:  # the row's first value of this person is a carrier
                    held = _carrier_literals(ring[token], token, body)
                    if isinstance(held, str) and "\n" not in after:  # it did not open: a later one of the row may
                        held = _row_literals(kinds, tokens, bodies, parts, at + 1, ring[token], token) or held
                carried[token] = held
            if isinstance(held, str):
                append(held or f"enc2:{token}:{body}")  # "": no carrier of its person in the row
            else:
                index = _INDEX.get(body)
                if index is None:
                    index = int(body[1:]) if body[:1] == "#" else 0
                append(held[index] if index < len(held) else sealing.UNREADABLE)
        append(after)
        if carried and "\n" in after:
            carried = {}
    return "".join(out)


def _row_literals(kinds: list[str], tokens: list[str], bodies: list[str], parts: list[str], at: int,
                  aead: AESGCM | None, token: str) -> list[str] | str:
    """The carrier of ``token`` in the row from value ``at`` (in that row) to its end, opened as ``carried_values``
    chooses among a row's carriers: the first one that opens, as the insides of its values' JSON literals; else
    what the last one read (``[erased]``, ``[unreadable]``); "" when the row holds no carrier of the person
    from ``at`` on."""
    found: list[str] | str = ""
    for j in range(at, len(kinds)):
        body = bodies[j]
        if kinds[j] == "2" and tokens[j] == token and body[:1] not in ("#", "=", ""):
            found = _carrier_literals(aead, token, body)
            if not isinstance(found, str):
                return found
        if "\n" in parts[4 * j + 4]:
            break
    return found


def _carrier_literals(aead: AESGCM | None, token: str, body: str) -> list[str] | str:
    """``sealing.open_values`` of a carrier, each value as the inside of its JSON literal
    (``encode_basestring_ascii``), or ``[erased]`` / ``[unreadable]``. The plaintext is the compact JSON list of
    the values: when it is printable ASCII without a backslash, its items are already those insides and are cut
    out of it."""
    if aead is None:
        return sealing.ERASED
    try:
        raw = binascii.a2b_base64(body)
        plain = aead.decrypt(raw[:12], raw[12:], None)
    except Exception:  # noqa: BLE001 - a wrong key or a damaged value: say so, never fail a read
        return sealing.UNREADABLE
    if plain.isascii():
        text = plain.decode()
        if text.isprintable() and "\\" not in text and text[:2] == '["' and text[-2:] == '"]':
            items = text[2:-2].split('","')
            if text.count('"') == 2 * len(items):  # no quote but the items' own
                return items
    values = sealing.open_values(aead, f"{sealing.PREFIX2}{token}:{body}")  # what the cut does not cover
    return values if isinstance(values, str) else [encode_basestring_ascii(v)[1:-1] for v in values]


def sealed_payload(payload: str) -> bool:
    return _MARKS[0] in payload or _MARKS[1] in payload


def carried_values(ring: dict[str, AESGCM | None], actor: str, payload: str) -> dict[str, list[str] | str]:
    """A row's format-2 carriers opened, by person: the actor column's and those in its payload. A person
    whose key was never made is left out (their values are text that only looks sealed)."""
    carriers = [actor] if actor.startswith(sealing.PREFIX2) and not sealing.is_reference(actor) else []
    if _MARKS[1] in payload:
        carriers += [m.group(1) for m in _CARRIER.finditer(payload)]
    out: dict[str, list[str] | str] = {}
    for carrier in carriers:
        token = sealing.sealed_person(carrier)
        if token in ring and not isinstance(out.get(token), list):  # the first one that opens
            out[token] = sealing.open_values(ring[token], carrier)
    return out


DROP = object()


def open_own(value: Any, ring: dict[str, AESGCM | None], carried: dict[str, list[str] | str], only: str) -> Any:
    """``value`` with the strings sealed for ``only`` opened and those sealed for anyone else left out (the
    member of an object, the element of a list), at any depth."""
    if sealing.is_sealed(value):
        token = sealing.sealed_person(value)
        return sealing.opened_value(value, ring.get(token), carried) if token == only else DROP
    if isinstance(value, dict):
        opened = {k: open_own(v, ring, carried, only) for k, v in value.items()}
        return {k: v for k, v in opened.items() if v is not DROP}
    if isinstance(value, list):
        return [v for v in (open_own(v, ring, carried, only) for v in value) if v is not DROP]
    return value
