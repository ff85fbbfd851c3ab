"""A small, safe recursive-descent parser for LaTeX arithmetic, building sympy objects directly.

Model output is never evaluated as code (no ``eval``, ``sympify`` or ``parse_expr``): the text is
tokenised here and only these constructs become sympy objects, through sympy's constructors:

- numbers (``12``, ``3.5``, ``.25``, exact rationals), single-letter variables (``i`` is the
  imaginary unit), ``\\pi``, ``\\infty``;
- ``+ - * / ^``, ``\\cdot``, ``\\times``, ``\\div``, implicit products (``2\\sqrt{3}``, ``3x``,
  ``(a+1)(b+2)``), ``\\pm`` / ``\\mp`` (one sign for the whole expression, chosen by the caller);
- ``\\frac{a}{b}`` (also ``\\frac12``), ``\\sqrt{x}``, ``\\sqrt[n]{x}``, mixed numbers
  (``1\\frac{4}{5}`` = 9/5), ``( )``, ``[ ]``, ``{ }`` groups;
- ``\\sin \\cos \\tan \\cot \\sec \\csc \\ln \\log \\exp`` (with or without the backslash).

Up to :data:`MAX_PRODUCT_LETTERS` adjacent letters are a product (``ab`` = a·b); a longer run that
is not a function name (``even``) is a word: parsing fails and the caller compares text instead.
Exponents are bounded (:data:`MAX_EXPONENT`) so that ``10^{10^{10}}`` cannot exhaust memory; input
longer than :data:`MAX_LENGTH` is refused.
"""

from __future__ import annotations

import re
from fractions import Fraction

import sympy

MAX_LENGTH = 400
MAX_EXPONENT = 1000  # |integer exponent| of a numeric power
MAX_SYMBOLIC_EXPONENT = 40  # |integer exponent| of a power of an expression with variables
MAX_DEPTH = 60
MAX_PRODUCT_LETTERS = 3  # "abc" is a product of variables; a longer run of letters is a word

_TOKEN = re.compile(
    r"\s*(?:(?P<num>\d+(?:\.\d+)?|\.\d+)|(?P<cmd>\\[A-Za-z]+|\\[{}])|(?P<word>[A-Za-z]+)"
    r"|(?P<sym>[-+*/^_()\[\]{},=|!&']))"
)
_FUNCTIONS = {
    "sin": sympy.sin,
    "cos": sympy.cos,
    "tan": sympy.tan,
    "cot": sympy.cot,
    "sec": sympy.sec,
    "csc": sympy.csc,
    "ln": sympy.log,
    "log": sympy.log,
    "exp": sympy.exp,
}
_CLOSE = {"(": ")", "[": "]", "{": "}"}


class LatexParseError(ValueError):
    """The text is not an arithmetic expression this parser understands."""


def tokenize(text: str) -> list[tuple[str, str]]:
    tokens, pos = [], 0
    while pos < len(text):
        if text[pos:].strip() == "":
            break
        m = _TOKEN.match(text, pos)
        if m is None:
            raise LatexParseError(f"unexpected character {text[pos:].lstrip()[:1]!r}")
        kind = m.lastgroup
        tokens.append((kind, m.group(kind)))
        pos = m.end()
    return tokens


def parse_latex(text: str, pm_sign: int = 1) -> sympy.Expr:
    """The sympy value of a LaTeX arithmetic expression; ``\\pm`` takes the sign ``pm_sign``."""
    if len(text) > MAX_LENGTH:
        raise LatexParseError(f"expression longer than {MAX_LENGTH} characters")
    parser = _Parser(tokenize(text), pm_sign)
    value = parser.expression()
    if parser.pos != len(parser.tokens):
        raise LatexParseError(f"unexpected {parser.tokens[parser.pos][1]!r}")
    if value.has(sympy.nan, sympy.zoo):
        raise LatexParseError("undefined value (division by zero)")
    return value


def has_pm(text: str) -> bool:
    return "\\pm" in text or "\\mp" in text


class _Parser:
    def __init__(self, tokens: list[tuple[str, str]], pm_sign: int) -> None:
        self.tokens, self.pos, self.pm_sign, self.depth = tokens, 0, pm_sign, 0

    # --- token helpers -------------------------------------------------------------------------
    def peek(self) -> tuple[str, str] | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def at(self, *texts: str) -> bool:
        tok = self.peek()
        return tok is not None and tok[1] in texts

    def take(self) -> tuple[str, str]:
        tok = self.peek()
        if tok is None:
            raise LatexParseError("unexpected end of expression")
        self.pos += 1
        return tok

    def expect(self, text: str) -> None:
        tok = self.take()
        if tok[1] != text:
            raise LatexParseError(f"expected {text!r}, got {tok[1]!r}")

    def enter(self) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise LatexParseError("expression nested too deeply")

    # --- grammar -------------------------------------------------------------------------------
    def expression(self) -> sympy.Expr:
        """expression := signed (('+' | '-' | '\\pm' | '\\mp') term)*"""
        self.enter()
        value = self.signed()
        while self.at("+", "-", "\\pm", "\\mp"):
            op = self.take()[1]
            right = self.term()
            sign = {"+": 1, "-": -1, "\\pm": self.pm_sign, "\\mp": -self.pm_sign}[op]
            value = value + sign * right
        self.depth -= 1
        return value

    def signed(self) -> sympy.Expr:
        """A term with an optional leading sign (``-x``, ``\\pm 3``)."""
        if self.at("-", "+", "\\pm", "\\mp"):
            op = self.take()[1]
            sign = {"+": 1, "-": -1, "\\pm": self.pm_sign, "\\mp": -self.pm_sign}[op]
            return sign * self.signed()
        return self.term()

    def term(self) -> sympy.Expr:
        """term := power (('*' | '\\cdot' | '\\times' | '/' | '\\div') unary | implicit power)*"""
        value = self.power()
        while True:
            if self.at("*", "\\cdot", "\\times"):
                self.take()
                value = value * self.unary()
            elif self.at("/", "\\div"):
                self.take()
                divisor = self.unary()
                if divisor == 0:
                    raise LatexParseError("division by zero")
                value = value / divisor
            elif self.starts_implicit_factor():
                value = value * self.power()
            else:
                return value

    def unary(self) -> sympy.Expr:
        if self.at("-", "+"):
            return (-1 if self.take()[1] == "-" else 1) * self.unary()
        return self.power()

    def starts_implicit_factor(self) -> bool:
        tok = self.peek()
        if tok is None:
            return False
        kind, text = tok
        # "2 3" is not 6: a number never continues a product implicitly
        if kind in ("word", "cmd"):
            return text not in ("\\pm", "\\mp", "\\cdot", "\\times", "\\div", "\\}")
        return text in ("(", "[", "{")

    def power(self) -> sympy.Expr:
        """power := primary ('^' argument)?"""
        base = self.primary()
        if self.at("^"):
            self.take()
            exponent = self.argument(allow_sign=True)
            base = _power(base, exponent)
        return base

    def argument(self, allow_sign: bool = False) -> sympy.Expr:
        """A command argument: ``{expression}``, one digit (``\\frac12``), a letter or a command."""
        tok = self.peek()
        if tok is None:
            raise LatexParseError("missing argument")
        if allow_sign and tok[1] == "-":
            self.take()
            return -self.argument()
        if tok[1] == "{":
            self.take()
            value = self.expression()
            self.expect("}")
            return value
        if tok[0] == "num":
            digits = tok[1]
            if len(digits) > 1 and "." not in digits:
                self.tokens[self.pos] = ("num", digits[1:])  # LaTeX takes one character
                return sympy.Integer(int(digits[0]))
            self.take()
            return _number(digits)
        if tok[0] == "word" and len(tok[1]) > 1:
            self.tokens[self.pos] = ("word", tok[1][1:])
            return self.letter(tok[1][0])
        return self.primary()

    def primary(self) -> sympy.Expr:
        self.enter()
        kind, text = self.take()
        self.depth -= 1
        if kind == "num":
            value = _number(text)
            if self.at("\\frac") and "." not in text:  # mixed number: 1\frac{4}{5} = 1 + 4/5
                start = self.pos
                self.take()
                numerator, denominator = self.argument(), self.argument()
                if numerator.is_Integer and denominator.is_Integer and denominator != 0:
                    return value + numerator / denominator
                self.pos = start
            return value
        if kind == "word":
            if text in _FUNCTIONS:
                return self.function(text)
            if text == "pi":
                return sympy.pi
            if len(text) <= MAX_PRODUCT_LETTERS:  # "ab" = a·b
                value = sympy.Integer(1)
                for letter in text:
                    value = value * self.letter(letter)
                return value
            raise LatexParseError(f"word {text!r} is not an expression")
        if kind == "sym" and text in _CLOSE:
            value = self.expression()
            self.expect(_CLOSE[text])
            return value
        if kind == "cmd":
            return self.command(text[1:])
        raise LatexParseError(f"unexpected {text!r}")

    def letter(self, text: str) -> sympy.Expr:
        return sympy.I if text == "i" else sympy.Symbol(text)

    def command(self, name: str) -> sympy.Expr:
        if name == "frac":
            numerator, denominator = self.argument(), self.argument()
            if denominator == 0:
                raise LatexParseError("division by zero")
            return numerator / denominator
        if name == "sqrt":
            if self.at("["):
                self.take()
                index = self.expression()
                self.expect("]")
                return sympy.root(self.argument(), index)
            return sympy.sqrt(self.argument())
        if name == "pi":
            return sympy.pi
        if name == "infty":
            return sympy.oo
        if name in _FUNCTIONS:
            return self.function(name)
        raise LatexParseError(f"unsupported command \\{name}")

    def function(self, name: str) -> sympy.Expr:
        exponent = None
        if self.at("^"):  # \sin^2 x
            self.take()
            exponent = self.argument(allow_sign=True)
        if self.at("(", "{", "["):
            value = self.primary()
        else:
            value = self.power()
        result = _FUNCTIONS[name](value)
        return result if exponent is None else _power(result, exponent)


def _number(text: str) -> sympy.Expr:
    value = Fraction(text)
    return sympy.Rational(value.numerator, value.denominator)


def _power(base: sympy.Expr, exponent: sympy.Expr) -> sympy.Expr:
    """``base**exponent`` with bounds that keep exact arithmetic small."""
    if exponent.is_Integer:
        limit = MAX_SYMBOLIC_EXPONENT if base.free_symbols else MAX_EXPONENT
        if abs(int(exponent)) > limit:
            raise LatexParseError(f"exponent {exponent} is too large")
        if base.is_Rational and max(abs(base.p), base.q) > 1:
            bits = max(abs(base.p), base.q).bit_length() * abs(int(exponent))
            if bits > 20_000:
                raise LatexParseError("power too large")
    elif exponent.is_number and (abs(complex(exponent.evalf(15))) > MAX_EXPONENT):
        raise LatexParseError(f"exponent {exponent} is too large")
    if base == 0 and exponent.is_number and exponent.is_negative:
        raise LatexParseError("division by zero")
    return sympy.Pow(base, exponent)
