"""Keyboards and the labels on them, rendered in the current locale."""

from __future__ import annotations

import re
from enum import StrEnum
from typing import Final

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, KeyboardButton, ReplyKeyboardMarkup

from i18n import LANGUAGE_NAMES, LOCALES, N_, gettext, translate


class MenuItem(StrEnum):
    CONNECTION_REQUEST = "connection_request"
    FEE_CALCULATOR = "fee_calculator"
    MY_APPLICATIONS = "my_applications"
    ACTS_AND_PAYMENTS = "acts_and_payments"
    NOTIFICATIONS = "notifications"
    LANGUAGE = "language"
    HELP = "help"


MENU_LABELS: Final[dict[MenuItem, str]] = {
    MenuItem.CONNECTION_REQUEST: N_("Connection request"),
    MenuItem.FEE_CALCULATOR: N_("Calculate the fee"),
    MenuItem.MY_APPLICATIONS: N_("My applications"),
    MenuItem.ACTS_AND_PAYMENTS: N_("Acts and payments"),
    MenuItem.NOTIFICATIONS: N_("Announcements"),
    MenuItem.LANGUAGE: N_("Language"),
    MenuItem.HELP: N_("Help"),
}

MENU_ROWS: Final = (
    (MenuItem.CONNECTION_REQUEST, MenuItem.FEE_CALCULATOR),
    (MenuItem.MY_APPLICATIONS, MenuItem.ACTS_AND_PAYMENTS),
    (MenuItem.NOTIFICATIONS, MenuItem.LANGUAGE, MenuItem.HELP),
)

LANGUAGE_CALLBACK_PREFIX: Final = "lang:"


def _fold(text: str) -> str:
    return " ".join(text.casefold().split())


def menu_item_for(text: str | None) -> MenuItem | None:
    """A citizen may still hold a keyboard in another language (or type the label by hand),
    so a label is recognised in every locale (looked up when asked: 21 labels, and a test's
    stand-in catalog counts too)."""
    if not text:
        return None
    folded = _fold(text)
    for item, label in MENU_LABELS.items():
        if any(_fold(translate(label, locale)) == folded for locale in LOCALES):
            return item
    return None


def _labels_pattern(labels: set[str]) -> str:
    return "^(?i:" + "|".join(re.escape(label) for label in sorted(labels)) + r")\s*$"


def menu_label_pattern() -> str:
    """A regex matching any menu label in any locale (for MessageHandler filters)."""
    return _labels_pattern(
        {translate(label, loc) for label in MENU_LABELS.values() for loc in LOCALES}
    )


def menu_item_pattern(item: MenuItem) -> str:
    """A regex matching one menu item's label in any locale."""
    return _labels_pattern({translate(MENU_LABELS[item], loc) for loc in LOCALES})


def main_menu() -> ReplyKeyboardMarkup:
    rows = [[KeyboardButton(gettext(MENU_LABELS[item])) for item in row] for row in MENU_ROWS]
    return ReplyKeyboardMarkup(rows, resize_keyboard=True, is_persistent=True)


def welcome_menu() -> ReplyKeyboardMarkup:
    """The main menu under a row of languages, each in its own name: a new citizen's /start.

    A message carries one keyboard, so the languages join the menu rather than asking in a
    second message; a press sends the name, which :func:`language_names_pattern` recognises.
    """
    languages = [KeyboardButton(LANGUAGE_NAMES[code]) for code in LOCALES]
    menu = main_menu()
    return ReplyKeyboardMarkup(
        [languages, *menu.keyboard], resize_keyboard=True, is_persistent=True
    )


def language_names_pattern() -> str:
    """A regex matching a language button of :func:`welcome_menu`."""
    return _labels_pattern(set(LANGUAGE_NAMES.values()))


def language_keyboard() -> InlineKeyboardMarkup:
    buttons = [
        InlineKeyboardButton(LANGUAGE_NAMES[code], callback_data=LANGUAGE_CALLBACK_PREFIX + code)
        for code in LOCALES
    ]
    return InlineKeyboardMarkup([buttons])
