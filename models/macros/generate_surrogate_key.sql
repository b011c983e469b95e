{#- dbt_utils' surrogate key, written so that both DataFusion and DuckDB run it. -#}
{%- macro generate_surrogate_key(field_list) -%}
{%- set fields -%}
{%- for field in field_list -%}
coalesce(cast({{ field }} as {{ dbt.type_string() }}), '_dbt_utils_surrogate_key_null_'){% if not loop.last %}, '-', {% endif %}
{%- endfor -%}
{%- endset -%}
{{ dbt.hash('concat(' ~ fields ~ ')') }}
{%- endmacro -%}
