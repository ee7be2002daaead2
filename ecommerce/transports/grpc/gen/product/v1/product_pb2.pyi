from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Product(_message.Message):
    __slots__ = ("id", "sku", "name", "description", "price", "currency", "category_id", "category_slug", "is_active", "stock")
    ID_FIELD_NUMBER: _ClassVar[int]
    SKU_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    PRICE_FIELD_NUMBER: _ClassVar[int]
    CURRENCY_FIELD_NUMBER: _ClassVar[int]
    CATEGORY_ID_FIELD_NUMBER: _ClassVar[int]
    CATEGORY_SLUG_FIELD_NUMBER: _ClassVar[int]
    IS_ACTIVE_FIELD_NUMBER: _ClassVar[int]
    STOCK_FIELD_NUMBER: _ClassVar[int]
    id: int
    sku: str
    name: str
    description: str
    price: int
    currency: str
    category_id: int
    category_slug: str
    is_active: bool
    stock: int
    def __init__(self, id: _Optional[int] = ..., sku: _Optional[str] = ..., name: _Optional[str] = ..., description: _Optional[str] = ..., price: _Optional[int] = ..., currency: _Optional[str] = ..., category_id: _Optional[int] = ..., category_slug: _Optional[str] = ..., is_active: _Optional[bool] = ..., stock: _Optional[int] = ...) -> None: ...

class Category(_message.Message):
    __slots__ = ("id", "name", "slug")
    ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    SLUG_FIELD_NUMBER: _ClassVar[int]
    id: int
    name: str
    slug: str
    def __init__(self, id: _Optional[int] = ..., name: _Optional[str] = ..., slug: _Optional[str] = ...) -> None: ...

class ProductQuery(_message.Message):
    __slots__ = ("search", "category", "ordering", "offset", "limit", "active_only", "cursor", "skip_count")
    SEARCH_FIELD_NUMBER: _ClassVar[int]
    CATEGORY_FIELD_NUMBER: _ClassVar[int]
    ORDERING_FIELD_NUMBER: _ClassVar[int]
    OFFSET_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    ACTIVE_ONLY_FIELD_NUMBER: _ClassVar[int]
    CURSOR_FIELD_NUMBER: _ClassVar[int]
    SKIP_COUNT_FIELD_NUMBER: _ClassVar[int]
    search: str
    category: str
    ordering: str
    offset: int
    limit: int
    active_only: bool
    cursor: str
    skip_count: bool
    def __init__(self, search: _Optional[str] = ..., category: _Optional[str] = ..., ordering: _Optional[str] = ..., offset: _Optional[int] = ..., limit: _Optional[int] = ..., active_only: _Optional[bool] = ..., cursor: _Optional[str] = ..., skip_count: _Optional[bool] = ...) -> None: ...

class StockLine(_message.Message):
    __slots__ = ("product_id", "quantity")
    PRODUCT_ID_FIELD_NUMBER: _ClassVar[int]
    QUANTITY_FIELD_NUMBER: _ClassVar[int]
    product_id: int
    quantity: int
    def __init__(self, product_id: _Optional[int] = ..., quantity: _Optional[int] = ...) -> None: ...

class StockHold(_message.Message):
    __slots__ = ("hold_key", "status", "lines")
    HOLD_KEY_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    LINES_FIELD_NUMBER: _ClassVar[int]
    hold_key: str
    status: str
    lines: _containers.RepeatedCompositeFieldContainer[StockLine]
    def __init__(self, hold_key: _Optional[str] = ..., status: _Optional[str] = ..., lines: _Optional[_Iterable[_Union[StockLine, _Mapping]]] = ...) -> None: ...

class GetProductRequest(_message.Message):
    __slots__ = ("product_id",)
    PRODUCT_ID_FIELD_NUMBER: _ClassVar[int]
    product_id: int
    def __init__(self, product_id: _Optional[int] = ...) -> None: ...

class GetProductResponse(_message.Message):
    __slots__ = ("product",)
    PRODUCT_FIELD_NUMBER: _ClassVar[int]
    product: Product
    def __init__(self, product: _Optional[_Union[Product, _Mapping]] = ...) -> None: ...

class GetProductsRequest(_message.Message):
    __slots__ = ("product_ids",)
    PRODUCT_IDS_FIELD_NUMBER: _ClassVar[int]
    product_ids: _containers.RepeatedScalarFieldContainer[int]
    def __init__(self, product_ids: _Optional[_Iterable[int]] = ...) -> None: ...

class GetProductsResponse(_message.Message):
    __slots__ = ("products",)
    PRODUCTS_FIELD_NUMBER: _ClassVar[int]
    products: _containers.RepeatedCompositeFieldContainer[Product]
    def __init__(self, products: _Optional[_Iterable[_Union[Product, _Mapping]]] = ...) -> None: ...

class ListProductsRequest(_message.Message):
    __slots__ = ("query",)
    QUERY_FIELD_NUMBER: _ClassVar[int]
    query: ProductQuery
    def __init__(self, query: _Optional[_Union[ProductQuery, _Mapping]] = ...) -> None: ...

class ListProductsResponse(_message.Message):
    __slots__ = ("count", "items", "next_cursor", "previous_cursor", "count_capped")
    COUNT_FIELD_NUMBER: _ClassVar[int]
    ITEMS_FIELD_NUMBER: _ClassVar[int]
    NEXT_CURSOR_FIELD_NUMBER: _ClassVar[int]
    PREVIOUS_CURSOR_FIELD_NUMBER: _ClassVar[int]
    COUNT_CAPPED_FIELD_NUMBER: _ClassVar[int]
    count: int
    items: _containers.RepeatedCompositeFieldContainer[Product]
    next_cursor: str
    previous_cursor: str
    count_capped: bool
    def __init__(self, count: _Optional[int] = ..., items: _Optional[_Iterable[_Union[Product, _Mapping]]] = ..., next_cursor: _Optional[str] = ..., previous_cursor: _Optional[str] = ..., count_capped: _Optional[bool] = ...) -> None: ...

class ListCategoriesRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ListCategoriesResponse(_message.Message):
    __slots__ = ("categories",)
    CATEGORIES_FIELD_NUMBER: _ClassVar[int]
    categories: _containers.RepeatedCompositeFieldContainer[Category]
    def __init__(self, categories: _Optional[_Iterable[_Union[Category, _Mapping]]] = ...) -> None: ...

class HoldStockRequest(_message.Message):
    __slots__ = ("hold_key", "lines")
    HOLD_KEY_FIELD_NUMBER: _ClassVar[int]
    LINES_FIELD_NUMBER: _ClassVar[int]
    hold_key: str
    lines: _containers.RepeatedCompositeFieldContainer[StockLine]
    def __init__(self, hold_key: _Optional[str] = ..., lines: _Optional[_Iterable[_Union[StockLine, _Mapping]]] = ...) -> None: ...

class HoldStockResponse(_message.Message):
    __slots__ = ("hold",)
    HOLD_FIELD_NUMBER: _ClassVar[int]
    hold: StockHold
    def __init__(self, hold: _Optional[_Union[StockHold, _Mapping]] = ...) -> None: ...

class ReleaseStockRequest(_message.Message):
    __slots__ = ("hold_key",)
    HOLD_KEY_FIELD_NUMBER: _ClassVar[int]
    hold_key: str
    def __init__(self, hold_key: _Optional[str] = ...) -> None: ...

class ReleaseStockResponse(_message.Message):
    __slots__ = ("hold",)
    HOLD_FIELD_NUMBER: _ClassVar[int]
    hold: StockHold
    def __init__(self, hold: _Optional[_Union[StockHold, _Mapping]] = ...) -> None: ...

class ConfirmStockRequest(_message.Message):
    __slots__ = ("hold_key",)
    HOLD_KEY_FIELD_NUMBER: _ClassVar[int]
    hold_key: str
    def __init__(self, hold_key: _Optional[str] = ...) -> None: ...

class ConfirmStockResponse(_message.Message):
    __slots__ = ("hold",)
    HOLD_FIELD_NUMBER: _ClassVar[int]
    hold: StockHold
    def __init__(self, hold: _Optional[_Union[StockHold, _Mapping]] = ...) -> None: ...
