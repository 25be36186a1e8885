"""People's names in the order their language writes them.

A Chinese name is family name first with no space (杨涛, never 涛 杨); other names are
"given family" (Tao Yang). ``person_name`` is the one helper; ``install`` makes Django's
``User.get_full_name`` use it (and ``get_short_name``, the admin's greeting, give a Chinese
name whole), so staff display names, relationship managers, reviewers and
demo users all read the same way wherever a full name shows.
"""

import re

HAN = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")


def person_name(first_name: str, last_name: str) -> str:
    first, last = (first_name or "").strip(), (last_name or "").strip()
    if HAN.search(first) or HAN.search(last):
        return f"{last}{first}"
    return f"{first} {last}".strip()


def _user_full_name(user) -> str:
    return person_name(user.first_name, user.last_name)


def _user_short_name(user) -> str:
    """What the admin greets with: a Chinese name whole (欢迎，刘伟, not 欢迎，伟), else the given name."""
    if HAN.search(user.first_name or "") or HAN.search(user.last_name or ""):
        return _user_full_name(user)
    return user.first_name


def install() -> None:
    from django.contrib.auth.models import AbstractUser

    AbstractUser.get_full_name = _user_full_name
    AbstractUser.get_short_name = _user_short_name
