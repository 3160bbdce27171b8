from rest_framework.pagination import PageNumberPagination


class StandardPagination(PageNumberPagination):
    """Default 50 a page; a client may ask for up to 500 with `page_size`."""

    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 500
