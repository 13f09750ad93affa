-- comment only
/* unterminated