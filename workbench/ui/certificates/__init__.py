"""The Certificates page's parts: details with lint, the toolbar and dialogs, and the store actions behind them."""
