"""Parts of the Keystores page: the entry table, undoable edits, and the dialogs that collect an action's values."""
