from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from tenderhall.accounts.forms import ServiceForm
from tenderhall.procedures.choices import Sector


class ProjectForm(ServiceForm):
    name = forms.CharField(label=_("项目名称"), max_length=200)
    sector = forms.ChoiceField(label=_("行业"), choices=Sector.choices)
    region_code = forms.CharField(label=_("行政区划代码"), max_length=6)
    tenderee_id = forms.IntegerField(label=_("招标人（主体编号）"))
    agency_id = forms.IntegerField(label=_("招标代理机构（主体编号，自行招标留空）"), required=False)
    budget = forms.DecimalField(label=_("预算/估算（元）"), max_digits=20, decimal_places=2)
    funding_source = forms.CharField(label=_("资金来源"), max_length=200, required=False)


class TenderForm(ServiceForm):
    name = forms.CharField(label=_("招标项目名称"), max_length=200)
    procedure_type = forms.ChoiceField(label=_("交易方式"), choices=())
    control_price = forms.DecimalField(
        label=_("最高投标限价（元）"), max_digits=20, decimal_places=2, required=False
    )
    description = forms.CharField(
        label=_("招标范围与内容"), widget=forms.Textarea(attrs={"rows": 3}), required=False
    )


class LotForm(ServiceForm):
    name = forms.CharField(label=_("标段（包）名称"), max_length=200)
    estimate = forms.DecimalField(label=_("估算价（元）"), max_digits=20, decimal_places=2)
    control_price = forms.DecimalField(
        label=_("最高投标限价（元）"), max_digits=20, decimal_places=2, required=False
    )
    bid_bond = forms.DecimalField(label=_("投标保证金（元）"), max_digits=20, decimal_places=2, initial=0)
    duration_days = forms.IntegerField(label=_("工期/服务期（日）"), required=False, min_value=1)


class TimelineForm(ServiceForm):
    notice_publish_at = forms.DateTimeField(
        label=_("公告发布时间"), widget=forms.DateTimeInput(attrs={"type": "datetime-local"})
    )
    documents_from = forms.DateTimeField(
        label=_("文件获取开始"), widget=forms.DateTimeInput(attrs={"type": "datetime-local"})
    )
    documents_until = forms.DateTimeField(
        label=_("文件获取截止"), widget=forms.DateTimeInput(attrs={"type": "datetime-local"})
    )
    bid_deadline = forms.DateTimeField(
        label=_("投标截止时间"), widget=forms.DateTimeInput(attrs={"type": "datetime-local"})
    )
    decryption_minutes = forms.IntegerField(
        label=_("解密时限（分钟）"), initial=60, min_value=15, max_value=480
    )


class CancelForm(ServiceForm):
    reason = forms.CharField(label=_("终止原因"), widget=forms.Textarea(attrs={"rows": 2}))


class DocumentUploadForm(ServiceForm):
    name = forms.CharField(label=_("文件名称"), max_length=200)
    file = forms.FileField(label=_("招标文件"))
    signature = forms.FileField(label=_("电子签名（CMS分离式签名，DER或PEM）"))


class ClarificationForm(ServiceForm):
    text = forms.CharField(label=_("澄清或修改内容"), widget=forms.Textarea(attrs={"rows": 4}))
    affects_bids = forms.BooleanField(label=_("可能影响投标文件编制"), required=False)
    question_ids = forms.MultipleChoiceField(
        label=_("答复的问题"), required=False, choices=(), widget=forms.CheckboxSelectMultiple
    )
