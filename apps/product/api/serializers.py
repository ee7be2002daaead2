"""Shapes of the catalogue's public API."""

from rest_framework import serializers

from ecommerce.contracts.product.port import ORDERINGS

MAX_PAGE_SIZE = 100


class CategoryOutput(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    slug = serializers.CharField()


class ProductOutput(serializers.Serializer):
    id = serializers.IntegerField()
    sku = serializers.CharField()
    name = serializers.CharField()
    description = serializers.CharField()
    price = serializers.IntegerField(help_text="Minor units (cents).")
    currency = serializers.CharField(help_text="ISO 4217.")
    category = serializers.CharField(allow_null=True, help_text="The category's slug.")
    available = serializers.BooleanField()


class ProductListInput(serializers.Serializer):
    search = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=100,
        help_text="Words of the name or description, each one a word or its beginning "
        '("kett" finds "Kettle"; every word must match), or the exact SKU '
        "(case-insensitive). The embedded mode (SQLite) matches a part of the name or "
        "description instead.",
    )
    category = serializers.CharField(
        required=False, allow_blank=True, max_length=120, help_text="A category's slug or id."
    )
    ordering = serializers.ChoiceField(
        choices=ORDERINGS,
        required=False,
        default="name",
        help_text="`relevance`: best match of `search` first (full-text rank; by name without "
        "a search). Every ordering but `relevance` has cursor pages.",
    )
    page = serializers.IntegerField(
        required=False,
        min_value=1,
        max_value=100_000,
        default=1,
        help_text="Offset pages: each costs more the deeper it is; `cursor` does not.",
    )
    page_size = serializers.IntegerField(
        required=False, min_value=1, max_value=MAX_PAGE_SIZE, default=20
    )
    cursor = serializers.CharField(
        required=False,
        max_length=1000,
        help_text="A page's `next_cursor` or `previous_cursor`: the page after (or before) it, "
        "as fast at any depth. Not with `page`; the same `ordering` as the page it came from.",
    )

    def validate(self, attrs):
        if "cursor" in attrs and "page" in self.initial_data:
            raise serializers.ValidationError({"cursor": ["Give `cursor` or `page`, not both."]})
        return attrs

    def to_internal_value(self, data):
        # DRF reads `?ordering=` as "not given" and falls back to the default; the schema says
        # a given parameter has a value, so an empty one is refused.
        blank = {
            name: ["This field may not be blank."]
            for name in ("ordering", "page", "page_size")
            if name in data and data.get(name) == ""
        }
        if blank:
            raise serializers.ValidationError(blank)
        return super().to_internal_value(data)


class ProductPageOutput(serializers.Serializer):
    count = serializers.IntegerField(
        allow_null=True,
        help_text="Matches, counted up to a bound, 1,000 unless CATALOGUE_COUNT_LIMIT says otherwise "
        "(`count_capped` says there are more); "
        "null on a cursor page, which counts nothing.",
    )
    next = serializers.URLField(allow_null=True)
    previous = serializers.URLField(allow_null=True)
    results = ProductOutput(many=True)
    count_capped = serializers.BooleanField(
        help_text="There are more matches than `count`: it stopped at its bound. Always true on "
        "a cursor page (no count)."
    )
    next_cursor = serializers.CharField(
        allow_null=True, help_text="Pass as `cursor` for the next page; null on the last."
    )
    previous_cursor = serializers.CharField(
        allow_null=True, help_text="Pass as `cursor` for the page before; null on the first."
    )
