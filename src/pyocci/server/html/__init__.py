"""The HTML view of occi-server: what a browser gets at the same URLs as OCCI clients.

`HtmlView` (`view`) takes the requests whose Accept prefers text/html and
answers GETs with pages (`browse`) and form posts (`forms`, checked by
`csrf`) with the service call they stand for (`act`) and a redirect; its
responses and error pages are `responses`'. The pages themselves are
rendered by `pyocci.rendering.html`. docs/html.md describes the view.
"""

from pyocci.server.html.view import HtmlView

__all__ = ["HtmlView"]
