"""What the inbox's browser tests share."""


def leave_search(page) -> None:
    """Blur the search box and wait until the list it thereby asks for again (the form
    listens to "change") is swapped in and settled: a key pressed before that would mark a
    row that the swap replaces, Enter would then reach the page, not the row, and a click on a
    status tab could land on the tab the swap replaces."""
    page.evaluate(
        "document.querySelectorAll('#inbox-items tr.inbox-row').forEach(r => r.dataset.old = '1')"
    )
    page.locator("#inbox-search").blur()
    page.wait_for_function(
        """() => document.querySelector('#inbox-items tr.inbox-row')
            && !document.querySelector('#inbox-items tr[data-old]')
            && !document.querySelector('.htmx-request, .htmx-swapping, .htmx-settling')"""
    )
