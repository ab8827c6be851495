"""Labelled text in CSV or TSV files, read with the standard library ``csv`` module."""

import csv

from chainrule.data.datasets._labels import label_array
from chainrule.data.datasets._paths import existing_file
from chainrule.errors import ChainruleError, DTypeError, ShapeError

__all__ = ["read_text_table"]

_DELIMITERS = {".tsv": "\t", ".csv": ","}


def read_text_table(path, text_column, label_column, delimiter=None, header=None):
    """Read the texts and labels of a delimited text file.

    Comma-separated files follow CSV quoting (a quoted field may hold commas and line breaks).
    Tab-separated files are read without quoting: a quote character is text, as in most TSV
    corpora (the UCI sentiment files would lose a quarter of their lines otherwise).

    Args:
        path: the file (UTF-8, a byte order mark is skipped).
        text_column: the column of the texts: a header name, or a 0-based position.
        label_column: the column of the labels: a header name, or a 0-based position.
        delimiter: the field separator; None picks it from the suffix (``.tsv`` tab, ``.csv``
            comma), or else from the first line (tab if it has one, comma otherwise).
        header: whether the first row names the columns; None means "when a column is given by name".

    Returns:
        ``(texts, labels)``: a list of strings, and an array of labels (int64 when every label is an
        integer, else strings). Empty lines are skipped.

    Raises:
        FileNotFoundError: no such file.
        ShapeError: a row with too few columns (the message gives its line).
        ChainruleError: a column name that the header does not have, or a file that is not UTF-8.

    Example:
        >>> import os, tempfile
        >>> path = os.path.join(tempfile.mkdtemp(), "reviews.csv")
        >>> with open(path, "w") as f:
        ...     _ = f.write('label,review\\n1,"tasty, fast"\\n0,cold\\n')
        >>> read_text_table(path, "review", "label")
        (['tasty, fast', 'cold'], array([1, 0]))
    """
    path = existing_file("read_text_table", path)
    columns = (text_column, label_column)
    for column in columns:
        if isinstance(column, bool) or not isinstance(column, (int, str)):
            raise DTypeError(f"read_text_table: a column must be a header name or a position; expected a str or "
                             f"an int, got {column!r}.")
        if isinstance(column, int) and column < 0:
            raise ShapeError(f"read_text_table: a column position is negative; expected a position >= 0, got "
                             f"{column}.")
    if header is None:
        header = any(isinstance(column, str) for column in columns)
    if not header and any(isinstance(column, str) for column in columns):
        raise ChainruleError(f"read_text_table: columns given by name need a header row; expected header=True "
                             f"or int columns, got header=False and columns {columns!r}.")
    try:
        with open(path, newline="", encoding="utf-8-sig") as handle:
            if delimiter is None:
                delimiter = _guess_delimiter(path, handle)
            quoting = csv.QUOTE_NONE if delimiter == "\t" else csv.QUOTE_MINIMAL
            rows = list(_numbered_rows(handle, delimiter, quoting))
    except UnicodeDecodeError as exc:
        raise ChainruleError(f"read_text_table: {str(path)!r} is not UTF-8 text; expected UTF-8, got "
                             f"{exc.reason} at byte {exc.start}.") from None
    if header:
        names = rows[0][1] if rows else []
        rows = rows[1:]
        positions = []
        for column in columns:
            if isinstance(column, str) and column not in names:
                raise ChainruleError(f"read_text_table: {str(path)!r} has no column {column!r}; expected one of "
                                     f"the header's names, got {names}.")
            positions.append(names.index(column) if isinstance(column, str) else column)
        text_position, label_position = positions
    else:
        text_position, label_position = text_column, label_column
    width = max(text_position, label_position) + 1
    texts, labels = [], []
    for line, row in rows:
        if len(row) < width:
            raise ShapeError(f"read_text_table: line {line} of {str(path)!r} has too few columns; expected at "
                             f"least {width}, got {len(row)}: {row!r}.")
        texts.append(row[text_position])
        labels.append(row[label_position].strip())
    return texts, label_array(labels)


def _guess_delimiter(path, handle):
    if path.suffix.lower() in _DELIMITERS:
        return _DELIMITERS[path.suffix.lower()]
    first_line = handle.readline()
    handle.seek(0)
    return "\t" if "\t" in first_line else ","


def _numbered_rows(handle, delimiter, quoting):
    """(line number where the row starts, row) for each non-empty row."""
    reader = csv.reader(handle, delimiter=delimiter, quoting=quoting)
    start = 1
    for row in reader:
        if row and any(field.strip() for field in row):
            yield start, row
        start = reader.line_num + 1
