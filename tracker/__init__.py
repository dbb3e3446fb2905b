"""Systems Change Tracker: the domain package (models, store, import/export, queries, charts, CLI).

Never imports Streamlit, except the one cached-connection edge in ``tracker.app_state``.
"""

__version__ = "0.1.0"
